"""Stage 2, store: passages → the on-disk Whoosh index, incremental and crash-safe.

`schema` maps passages to Whoosh documents; `index` builds and updates; `workers` parses in
parallel and writes segments; `records` and `indexdir` hold the manifest and generations;
`safety` refuses mass deletes and full disks; `locate` finds an index for a vault and the
config; `status` reports what is stale.
"""
