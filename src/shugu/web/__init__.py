"""The web console: server-rendered pages (Jinja2, htmx, ECharts), zh-CN first and English,
calling the same services and scoping code as the API."""
