// The orchestrations for patient writes arrive with the services issue (#4); see docs/architecture.md.
export {};
