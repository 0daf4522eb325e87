"""`okr demo`: a generated company, an HR system publishing its KPI values, a live tree.

company.py plans the company (pure data); build.py creates it in a running system; play.py is
the HR system and the latency it sees; view.py draws it; run.py finds or starts the system and
ties the phases together.
"""
