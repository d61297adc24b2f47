"""CRM and dialer exports (CSV) to v1 events: history on day one (`kpiflow import`, docs/import.md).

A mapping file says which column is which; each row becomes the events it proves, with
deterministic event ids, so importing an export again (or a later export of the same CRM) adds
only the facts that are new. Pure parts: `cells` (dates, amounts, yes/no), `mapping`, `rows`
(the CSV reader with line numbers), `derive_*` (a row to events), `event_ids`; the I/O is in
`run` (read, check, publish through the validating producer).
"""
