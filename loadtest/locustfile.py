"""Load test of the PatientTests API (patient-app), run by `npm run loadtest` (see README.md).

Each simulated user is a client system: it creates patients, reads them back, replaces them with
If-Match, searches, adds test results and lists them, moving between these at random by weight.
About one request in ten is deliberately invalid and must be answered 400.

Every answer is checked: a valid request that gets a status it should not, or an invalid one that
gets anything but 400, is recorded as a Locust failure. The run's exit code (set when it ends, on
the master when distributed) is 0 only when there were no failures at all, some invalid requests
were sent, and the 95th percentile response time is within --p95-ms.

Auth: --function-key (x-functions-key, the local stack) and/or --subscription-key
(Ocp-Apim-Subscription-Key, a deployed system behind APIM); both also read from the environment
(LOADTEST_FUNCTION_KEY, LOADTEST_SUBSCRIPTION_KEY) so they stay off command lines.
"""

import json
import random
import time
import uuid

from locust import FastHttpUser, between, events, task

INVALID = "INVALID "
# A write's answer is 202 when its orchestration has not finished within the app's wait; the
# operation link then answers the final result. How long one user follows it before giving up.
OPERATION_FOLLOW_SECONDS = 30.0

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]
GENDERS = ["male", "female", "other", "unknown"]
CODES = [("HBA1C", "5.4 %"), ("LDL", "2.6 mmol/L"), ("HB", "140 g/L"), ("TSH", "1.9 mIU/L")]


@events.init_command_line_parser.add_listener
def _arguments(parser):
    parser.add_argument("--function-key", env_var="LOADTEST_FUNCTION_KEY", default="", is_secret=True,
                        help="patient-app function key, sent as x-functions-key (local stack)")
    parser.add_argument("--subscription-key", env_var="LOADTEST_SUBSCRIPTION_KEY", default="", is_secret=True,
                        help="APIM subscription key, sent as Ocp-Apim-Subscription-Key (deployed system)")
    parser.add_argument("--p95-ms", env_var="LOADTEST_P95_MS", type=float, default=3000.0,
                        help="the run fails when the 95th percentile response time (all requests) exceeds this")
    parser.add_argument("--invalid-ratio", env_var="LOADTEST_INVALID_RATIO", type=float, default=0.1,
                        help="share of requests that are deliberately invalid (expected 400)")


def _patient():
    first, last = random.choice(FIRST_NAMES), random.choice(LAST_NAMES)
    return {
        "firstName": first,
        "lastName": last,
        "fullName": f"{first} {last}",
        "gender": random.choice(GENDERS),
        "dateOfBirth": f"{random.randint(1930, 2020)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
        "postCode": f"{random.randint(1000, 9999)}",
        "insuranceNumber": f"INS-{random.randint(100000, 999999)}",
        "preferredContactNumber": f"+61 4{random.randint(10000000, 99999999)}",
    }


def _test_result():
    code, measurement = random.choice(CODES)
    return {
        "performer": "Load Test Laboratory",
        "orderReference": f"ORD-{uuid.uuid4().hex[:12]}",
        "observations": [{
            "id": f"o-{random.randint(1, 999)}",
            "code": code,
            "measurement": measurement,
            "interpretation": random.choice(["normal", "high", "low"]),
            "status": "final",
            "issued": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }],
    }


class ApiClient(FastHttpUser):
    """A client system of the API, keeping the patients it created and their ETags."""

    wait_time = between(0.2, 1.0)

    def on_start(self):
        options = self.environment.parsed_options
        self.headers = {"content-type": "application/json", "x-caller-system": "loadtest",
                        "x-caller-user": f"user-{uuid.uuid4().hex[:8]}"}
        if options.function_key:
            self.headers["x-functions-key"] = options.function_key
        if options.subscription_key:
            self.headers["Ocp-Apim-Subscription-Key"] = options.subscription_key
        self.invalid_ratio = options.invalid_ratio
        self.patients = {}  # id -> current ETag

    # ---- plumbing -----------------------------------------------------------------------------

    def _call(self, method, path, name, expected, body=None, raw=None, headers=None):
        """Sends one request; anything but an expected status is a failure. Returns (status, json)."""
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        with self.client.request(method, path, name=name, data=data, headers={**self.headers, **(headers or {})},
                                 catch_response=True) as response:
            status = response.status_code
            if status == 202 and 202 not in expected and method != "GET":
                status, payload = self._follow(response, name)
            else:
                payload = _json(response)
            if status in expected:
                response.success()
            else:
                response.failure(f"status {status}, expected {sorted(expected)}: {_error_code(payload)}")
            return status, payload, response.headers

    def _follow(self, response, name):
        """Follows a 202's operation link until the write's final answer (bounded)."""
        location = response.headers.get("location", "")
        deadline = time.monotonic() + OPERATION_FOLLOW_SECONDS
        while location and time.monotonic() < deadline:
            time.sleep(float(response.headers.get("retry-after", "1") or 1))
            answer = self.client.get(location, name="GET /api/operations/[id]", headers=self.headers)
            if answer.status_code != 202:
                return answer.status_code, _json(answer)
        return 202, None

    def _invalid_now(self):
        return random.random() < self.invalid_ratio

    def _some_patient(self):
        if not self.patients:
            self.create_patient()
        return random.choice(list(self.patients)) if self.patients else None

    # ---- scenarios ----------------------------------------------------------------------------

    @task(3)
    def create_patient(self):
        if self._invalid_now():
            return self._invalid_create()
        status, body, headers = self._call("POST", "/api/patient", "POST /api/patient", {201}, body=_patient())
        if status == 201 and body:
            self.patients[body["id"]] = headers.get("etag") or f'"{body.get("version", 1)}"'

    @task(5)
    def read_patient(self):
        patient_id = self._some_patient()
        if not patient_id:
            return
        if self._invalid_now():
            return self._invalid_search()
        status, _, headers = self._call("GET", f"/api/patient/{patient_id}", "GET /api/patient/[id]", {200})
        if status == 200 and headers.get("etag"):
            self.patients[patient_id] = headers["etag"]

    @task(2)
    def update_patient(self):
        patient_id = self._some_patient()
        if not patient_id:
            return
        if self._invalid_now():
            return self._invalid_update(patient_id)
        status, _, headers = self._call("PUT", f"/api/patient/{patient_id}", "PUT /api/patient/[id] If-Match", {200},
                                        body=_patient(), headers={"if-match": self.patients[patient_id]})
        if status == 200 and headers.get("etag"):
            self.patients[patient_id] = headers["etag"]

    @task(2)
    def search(self):
        if self._invalid_now():
            return self._invalid_search()
        criteria = random.choice([
            {"lastName": random.choice(LAST_NAMES)},
            {"gender": random.choice(GENDERS), "dateOfBirthFrom": "1960-01-01", "dateOfBirthTo": "1990-12-31"},
            {"postCode": f"{random.randint(1000, 9999)}"},
        ])
        self._call("POST", "/api/patient/search?pageSize=20", "POST /api/patient/search", {200}, body=criteria)

    @task(2)
    def add_test_result(self):
        patient_id = self._some_patient()
        if not patient_id:
            return
        if self._invalid_now():
            return self._invalid_test_result(patient_id)
        self._call("POST", f"/api/patient/{patient_id}/tests", "POST /api/patient/[id]/tests", {201},
                   body=_test_result())

    @task(3)
    def list_tests(self):
        patient_id = self._some_patient()
        if not patient_id:
            return
        if self._invalid_now():
            return self._invalid_create()
        self._call("GET", f"/api/patient/{patient_id}/tests?pageSize=20", "GET /api/patient/[id]/tests", {200})

    # ---- deliberately invalid requests: every one must be answered 400 -------------------------

    def _invalid_create(self):
        broken = random.choice([
            {**_patient(), "postCode": "12345"},                       # postCode must be 4 characters
            {k: v for k, v in _patient().items() if k != "gender"},   # gender is required
            {**_patient(), "dateOfBirth": "yesterday"},
            {**_patient(), "id": str(uuid.uuid4())},                   # ids are server-assigned
            {**_patient(), "$where": "1"},                             # unknown field
        ])
        self._call("POST", "/api/patient", INVALID + "POST /api/patient", {400}, body=broken)

    def _invalid_update(self, patient_id):
        self._call("PUT", f"/api/patient/{patient_id}", INVALID + "PUT /api/patient/[id]", {400},
                   raw='{"firstName": "Ada", "gender": ', headers={"if-match": self.patients[patient_id]})

    def _invalid_search(self):
        self._call("POST", "/api/patient/search", INVALID + "POST /api/patient/search", {400},
                   body={"dateOfBirthFrom": "not-a-date"})

    def _invalid_test_result(self, patient_id):
        result = _test_result()
        result["observations"][0]["issued"] = "soon"
        self._call("POST", f"/api/patient/{patient_id}/tests", INVALID + "POST /api/patient/[id]/tests", {400},
                   body=result)


def _json(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - any unparsable body is just "no JSON"
        return None


def _error_code(payload):
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return payload["error"].get("code", "")
    return ""


@events.quitting.add_listener
def _thresholds(environment, **_kwargs):
    """Decides the exit code from the aggregated statistics (on the master when distributed)."""
    if environment.runner is None or type(environment.runner).__name__ == "WorkerRunner":
        return
    stats = environment.stats
    total = stats.total
    invalid = sum(entry.num_requests for entry in stats.entries.values() if entry.name.startswith(INVALID))
    p95 = total.get_response_time_percentile(0.95) or 0
    bound = environment.parsed_options.p95_ms
    problems = []
    if total.num_requests == 0:
        problems.append("no requests were made")
    if total.num_failures > 0:
        problems.append(f"{total.num_failures} of {total.num_requests} requests had an unexpected answer")
    if invalid == 0:
        problems.append("no invalid requests were sent, so their 400s were not checked")
    if p95 > bound:
        problems.append(f"p95 {p95:.0f} ms is over the bound of {bound:.0f} ms")
    print(f"\nloadtest: {total.num_requests} requests ({invalid} deliberately invalid), "
          f"{total.num_failures} unexpected answers, p50 {total.median_response_time:.0f} ms, "
          f"p95 {p95:.0f} ms (bound {bound:.0f} ms), {total.total_rps:.1f} requests/s")
    if problems:
        print("loadtest: FAILED - " + "; ".join(problems))
        environment.process_exit_code = 1
    else:
        print("loadtest: PASSED")
        environment.process_exit_code = 0
