// Shared building blocks of patient-app and audit-app arrive with the services issue (#4).
export {};
