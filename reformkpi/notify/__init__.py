"""Leaders are told, not just shown: alerts for each new data version, digests, exactly once.

`changes` works out what changed for a subscription between two data states, `digest` the
periodic summary, `outbox` keeps every message and its delivery steps (exactly once), `email`
and `webhook` deliver, `run` is one run of `python -m reformkpi notify`. Core only: no Streamlit.
"""
