"""The same workload as examples/bench_client.rs, with the official Python SDK (databricks-sdk==0.162.0)."""
import json
import resource
import sys
import time

from databricks.sdk import WorkspaceClient

url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
w = WorkspaceClient(host=url, token=token, auth_type="pat")
seeded = [w.tokens.create(comment=f"bench {i}").token_info.token_id for i in range(20)]
list(w.tokens.list())  # warm the connection
start = time.perf_counter()
for _ in range(n):
    assert len(list(w.tokens.list())) == 20
list_per_s = n / (time.perf_counter() - start)
start = time.perf_counter()
for _ in range(n // 4):
    created = w.tokens.create(comment="cycle")
    w.tokens.delete(token_id=created.token_info.token_id)
cycle_per_s = (n // 4) / (time.perf_counter() - start)
for i in seeded:
    w.tokens.delete(token_id=i)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"client": "python", "list_per_s": round(list_per_s, 1), "create_delete_per_s": round(cycle_per_s, 1), "peak_rss_kib": peak_kib}))
