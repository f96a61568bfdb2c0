"""What every report shares: Pareto maths on arrays (pareto.py), figures from computed records
(plots.py), Markdown tables and number formats (markdown.py), provenance.json (provenance.py)."""
