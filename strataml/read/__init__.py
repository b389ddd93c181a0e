"""The read side: everything that shows the workspace rather than judges it.

build   the lineage graph (index) from one Workspace walk and a doctor Report
saved   .strataml/index.json, kept fresh by the doctor's snapshot key
query   the one query layer every reader asks: find, rows, select, lineage, a record's detail
render  lineage as text, JSON, Mermaid or Graphviz dot
dashboard  the static HTML page built from the same queries
"""
