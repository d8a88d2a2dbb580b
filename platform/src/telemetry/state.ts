/** Whether startTelemetry turned the SDK on in this process (then fetch and http calls are instrumented). */
export const telemetryState = { instrumented: false };
