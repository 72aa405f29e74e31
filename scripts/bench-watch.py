#!/usr/bin/env python3
"""The independent watcher of scripts/bench-scale (standard library only).

It talks to the API server with the harness's admin certificate, from outside the operator,
with one LIST and one WATCH per kind (a poll of N objects every second would itself be a
load that grows with N).

  bench-watch.py converge NAMESPACE N START [--services]
      Waits until N Deployments in NAMESPACE are available (every wanted replica updated
      and available) and, with --services, N EcsServices are Ready; prints the seconds from
      START (a Unix time) to that moment.

  bench-watch.py churn NAMESPACE N RATE SECONDS COUNT
      Changes RATE EcsServices a second for SECONDS seconds (app-1, app-2, ..., each once:
      spec.desiredCount set to COUNT) and, for each change, measures how long until its
      Deployment holds the new replica count (children applied) and the EcsService's
      status.observedGeneration reaches the generation of the change (status observed).
      Prints p50/p90/p99/max of both, and how many never arrived.

Connection: BENCH_SERVER (https://host:port) and BENCH_PKI (the harness's pki directory:
ca.crt, admin.crt, admin.key).
"""

import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse


def connection():
    url = urllib.parse.urlparse(os.environ["BENCH_SERVER"])
    pki = os.environ["BENCH_PKI"]
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
    return http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=600)


def request(conn, method, path, body=None, content_type="application/json"):
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
    return json.loads(data)


class Watch(threading.Thread):
    """LIST then WATCH one collection, calling on_object(obj, at) for every object seen (at:
    when it was seen), and again after each relist."""

    def __init__(self, path, on_object):
        super().__init__(daemon=True)
        self.path = path
        self.on_object = on_object
        self.listed = threading.Event()

    def run(self):
        while True:
            try:
                self.once()
            except Exception as e:  # a dropped watch: list and watch again
                print(f"bench-watch: {self.path}: {e}; relisting", file=sys.stderr)
                time.sleep(0.5)

    def once(self):
        conn = connection()
        listed = request(conn, "GET", self.path)
        at = time.time()
        for obj in listed.get("items", []):
            self.on_object(obj, at)
        self.listed.set()
        rv = listed["metadata"]["resourceVersion"]
        sep = "&" if "?" in self.path else "?"
        conn.request("GET", f"{self.path}{sep}watch=1&resourceVersion={rv}&timeoutSeconds=3600",
                     headers={"Accept": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"watch {self.path}: {resp.status}")
        while True:
            line = resp.readline()
            if not line:
                raise RuntimeError("watch closed")
            event = json.loads(line)
            if event.get("type") == "ERROR":
                raise RuntimeError(f"watch error {event.get('object')}")
            if event.get("type") in ("ADDED", "MODIFIED"):
                self.on_object(event["object"], time.time())


def deployment_available(d):
    spec, status = d.get("spec", {}), d.get("status", {})
    want = spec.get("replicas", 1)
    return (status.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
            and status.get("updatedReplicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("replicas", 0) == want)


def service_ready(s):
    status = s.get("status") or {}
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions", []))


def converge(namespace, n, start, services):
    state = {"deployments": {}, "services": {}}
    lock = threading.Lock()
    done = threading.Event()

    def check():
        ok = sum(state["deployments"].values()) >= n
        if services:
            ok = ok and sum(state["services"].values()) >= n
        if ok:
            done.set()

    def on_deployment(d, _at):
        with lock:
            state["deployments"][d["metadata"]["name"]] = deployment_available(d)
            check()

    def on_service(s, _at):
        with lock:
            state["services"][s["metadata"]["name"]] = service_ready(s)
            check()

    Watch(f"/apis/apps/v1/namespaces/{namespace}/deployments", on_deployment).start()
    if services:
        Watch(f"/apis/ecsplane.io/v1alpha1/namespaces/{namespace}/ecsservices", on_service).start()
    done.wait()
    print(f"{time.time() - start:.1f}")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def churn(namespace, n, rate, seconds, count):
    total = min(n, int(rate * seconds))
    sent = {}  # name -> (time the change was sent, generation it made)
    applied = {}  # name -> first time its Deployment held `count` replicas
    observed = {}  # name -> first time its status observed the change's generation
    lock = threading.Lock()

    def on_deployment(d, at):
        name = d["metadata"]["name"]
        with lock:
            if name in sent and name not in applied and d.get("spec", {}).get("replicas") == count:
                applied[name] = at

    def on_service(s, at):
        name = s["metadata"]["name"]
        with lock:
            if name in sent and name not in observed:
                gen = sent[name][1]
                seen = (s.get("status") or {}).get("observedGeneration", 0)
                if gen is not None and seen >= gen:
                    observed[name] = at

    watches = [
        Watch(f"/apis/apps/v1/namespaces/{namespace}/deployments", on_deployment),
        Watch(f"/apis/ecsplane.io/v1alpha1/namespaces/{namespace}/ecsservices", on_service),
    ]
    for w in watches:
        w.start()
    for w in watches:
        w.listed.wait()

    # Changes are sent from a few connections so one slow answer does not hold the rate.
    senders = 4
    names = [f"app-{i}" for i in range(1, total + 1)]
    t0 = time.time()

    def send(k):
        conn = connection()
        for i in range(k, total, senders):
            due = t0 + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            name = names[i]
            with lock:
                sent[name] = (time.time(), None)
            obj = request(conn, "PATCH",
                          f"/apis/ecsplane.io/v1alpha1/namespaces/{namespace}/ecsservices/{name}",
                          {"spec": {"desiredCount": count}}, "application/merge-patch+json")
            with lock:
                sent[name] = (sent[name][0], obj["metadata"].get("generation"))

    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    send_span = time.time() - t0
    # Late arrivals: wait up to 60 s more.
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if len(applied) >= total and len(observed) >= total:
                break
        time.sleep(0.2)
    with lock:
        a = [(applied[n] - sent[n][0]) * 1000 for n in applied]
        o = [(observed[n] - sent[n][0]) * 1000 for n in observed]
    print(f"churn: {total} changes in {send_span:.1f} s ({total / send_span:.1f}/s)")
    for what, v in (("children applied", a), ("status observed", o)):
        print(f"  change -> {what}: p50 {percentile(v, 50):.0f} ms, p90 {percentile(v, 90):.0f} ms, "
              f"p99 {percentile(v, 99):.0f} ms, max {max(v, default=float('nan')):.0f} ms; "
              f"{total - len(v)} not seen within 60 s")


def main(argv):
    if len(argv) >= 4 and argv[0] == "converge":
        converge(argv[1], int(argv[2]), float(argv[3]), "--services" in argv[4:])
    elif len(argv) == 6 and argv[0] == "churn":
        churn(argv[1], int(argv[2]), float(argv[3]), float(argv[4]), int(argv[5]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
