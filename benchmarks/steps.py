"""The walk of scenario 4 and of ``step_timing``: a dispatched order through sign → contact →
complete, each step with the body the API takes. Django-free: ``step_timing`` and
``instructions`` import it before Django is set up, and the load generator's plan carries it
to locust (benchmarks/locustfile.py)."""

STEPS = (("sign", {}), ("contact", {"summary": "已电话联系市民", "way": "phone"}),
         ("complete", {"result": "已处理完毕", "solved": True}))
