-- What changed in the catalogs since an earlier capture of this database,
-- for `session.rs` to read again only what can differ. `$1` is the earlier
-- capture's boundary, an xid as text: every row written after that capture
-- has an xmin at least as young (`age` no older); NULL for the first
-- capture. `{exclude}` is the excluded schemas. Rows (kind, catalog, own,
-- attr, nsp, n):
--
-- - `table`: a table the capture reads with everything that hangs off it
--   (`own`), whose entries a capture can keep;
-- - `count`: how many rows (`n`) of a catalog (`catalog`) hang off a table
--   (`own`): a deleted row leaves no young row behind, a count shows it;
-- - `young`: a row written since the boundary: the object it belongs to
--   (`own`), the table it is a new part of (`attr`), its schema (`nsp`), and
--   whether it is of the rest of the schema rather than of a table (`n`,
--   1 or 0); `own` is NULL for the catalogs of which any change is read
--   again in full (operator classes and families, access methods, casts;
--   roles and tablespaces are compared in the shared objects); a new
--   member of an extension is a young `pg_depend` row of that object;
-- - `other`: how many objects of the rest of the schema each catalog holds
--   (a deletion there shows in them);
-- - `total`: how many rows the catalogs read again in full hold, and how
--   many objects belong to an extension;
-- - `next`: the boundary for the next capture (`catalog`) and the highest
--   OID of an object now (`own`): objects created later have higher ones.
WITH boundary AS MATERIALIZED (
    SELECT pg_catalog.age($1::pg_catalog.text::pg_catalog.xid) AS age
),
-- What belongs to an extension (found from the extensions, through
-- pg_depend's index on what is referenced: a few rows, not one lookup per
-- object).
members AS MATERIALIZED (
    SELECT d.classid, d.objid, d.xmin
      FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.deptype = 'e'
),
ns AS MATERIALIZED (
    SELECT n.oid
      FROM pg_catalog.pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND pg_catalog.left(n.nspname, 8) <> 'pg_toast'
       AND pg_catalog.left(n.nspname, 7) <> 'pg_temp'
       AND n.nspname::pg_catalog.text <> ALL ({exclude})
       AND n.oid NOT IN (SELECT m.objid FROM members m
                          WHERE m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
),
young (catalog, own, attr, nsp, other) AS (
-- Rows of user objects (OIDs from 16384 on, the ranges the catalogs'
-- indexes reach: rows of the built-in catalogs' own columns, comments and
-- dependencies never show in an entry).
    SELECT 'pg_class', c.oid, NULL::pg_catalog.oid, c.relnamespace,
           c.relkind NOT IN ('r', 'p', 'f', 'i', 'I', 't')
      FROM pg_catalog.pg_class c
     WHERE c.oid >= 16384 AND pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_attribute', a.attrelid, NULL, NULL,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = a.attrelid AND c.relkind IN ('r', 'p', 'f', 'i', 'I', 't') OFFSET 0)
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid >= 16384 AND a.attnum > 0 AND pg_catalog.age(a.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_attrdef', ad.oid, ad.adrelid, NULL,
           false
      FROM pg_catalog.pg_attrdef ad
     WHERE ad.oid >= 16384 AND pg_catalog.age(ad.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_constraint', co.oid, co.conrelid, co.connamespace,
           co.contypid <> 0
      FROM pg_catalog.pg_constraint co
     WHERE co.oid >= 16384 AND pg_catalog.age(co.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_index', x.indexrelid, x.indrelid, NULL,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = x.indrelid AND c.relkind IN ('r', 'p', 'f', 't') OFFSET 0)
      FROM pg_catalog.pg_index x
     WHERE x.indexrelid >= 16384 AND pg_catalog.age(x.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_trigger', tg.oid, tg.tgrelid, NULL,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = tg.tgrelid AND c.relkind IN ('r', 'p', 'f') OFFSET 0)
      FROM pg_catalog.pg_trigger tg
     WHERE tg.oid >= 16384 AND pg_catalog.age(tg.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_policy', pol.oid, pol.polrelid, NULL,
           false
      FROM pg_catalog.pg_policy pol
     WHERE pol.oid >= 16384 AND pg_catalog.age(pol.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_rewrite', rw.oid, rw.ev_class, NULL,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rw.ev_class AND c.relkind IN ('r', 'p', 'f') OFFSET 0)
      FROM pg_catalog.pg_rewrite rw
     WHERE rw.oid >= 16384 AND pg_catalog.age(rw.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_statistic_ext', st.oid, st.stxrelid, st.stxnamespace,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = st.stxrelid AND c.relkind IN ('r', 'p', 'f') OFFSET 0)
      FROM pg_catalog.pg_statistic_ext st
     WHERE st.oid >= 16384 AND pg_catalog.age(st.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_inherits', i.inhrelid, NULL, NULL,
           false
      FROM pg_catalog.pg_inherits i
     WHERE i.inhrelid >= 16384 AND pg_catalog.age(i.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_partitioned_table', pt.partrelid, NULL, NULL,
           false
      FROM pg_catalog.pg_partitioned_table pt
     WHERE pt.partrelid >= 16384 AND pg_catalog.age(pt.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_foreign_table', ft.ftrelid, NULL, NULL,
           false
      FROM pg_catalog.pg_foreign_table ft
     WHERE ft.ftrelid >= 16384 AND pg_catalog.age(ft.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_sequence', sq.seqrelid, NULL, NULL,
           true
      FROM pg_catalog.pg_sequence sq
     WHERE sq.seqrelid >= 16384 AND pg_catalog.age(sq.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_description', d.objoid, NULL, NULL,
           NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                         WHERE c.relkind IN ('r', 'p', 'f') AND c.oid = CASE d.classoid
                           WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
                             coalesce((SELECT x.indrelid FROM pg_catalog.pg_index x
                                        WHERE x.indexrelid = d.objoid), d.objoid)
                           WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
                             (SELECT co.conrelid FROM pg_catalog.pg_constraint co WHERE co.oid = d.objoid)
                           WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
                             (SELECT tg.tgrelid FROM pg_catalog.pg_trigger tg WHERE tg.oid = d.objoid)
                           WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN
                             (SELECT pol.polrelid FROM pg_catalog.pg_policy pol WHERE pol.oid = d.objoid)
                           WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
                             (SELECT rw.ev_class FROM pg_catalog.pg_rewrite rw WHERE rw.oid = d.objoid)
                           WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN
                             (SELECT st.stxrelid FROM pg_catalog.pg_statistic_ext st WHERE st.oid = d.objoid)
                         END
                        OFFSET 0)
      FROM pg_catalog.pg_description d
     WHERE d.objoid >= 16384 AND pg_catalog.age(d.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_enum', e.enumtypid, NULL, NULL,
           true
      FROM pg_catalog.pg_enum e
     WHERE e.oid >= 16384 AND pg_catalog.age(e.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_range', rg.rngtypid, NULL, NULL,
           true
      FROM pg_catalog.pg_range rg
     WHERE rg.rngtypid >= 16384 AND pg_catalog.age(rg.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_aggregate', ag.aggfnoid::pg_catalog.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_aggregate ag
     WHERE ag.aggfnoid >= '16384'::pg_catalog.oid::pg_catalog.regproc AND pg_catalog.age(ag.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_type', t.oid, NULL, t.typnamespace,
           coalesce((SELECT c.relkind FROM pg_catalog.pg_class c
                      WHERE c.oid = CASE WHEN t.typrelid <> 0 THEN t.typrelid
                                    ELSE (SELECT e.typrelid FROM pg_catalog.pg_type e
                                           WHERE e.oid = t.typelem AND e.typarray = t.oid) END),
                    '-') NOT IN ('r', 'p', 'f', 't')
      FROM pg_catalog.pg_type t
     WHERE true AND pg_catalog.age(t.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_proc', p.oid, NULL, p.pronamespace,
           true
      FROM pg_catalog.pg_proc p
     WHERE true AND pg_catalog.age(p.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_operator', o.oid, NULL, o.oprnamespace,
           true
      FROM pg_catalog.pg_operator o
     WHERE true AND pg_catalog.age(o.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_collation', cl.oid, NULL, cl.collnamespace,
           true
      FROM pg_catalog.pg_collation cl
     WHERE true AND pg_catalog.age(cl.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_namespace', n.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_namespace n
     WHERE true AND pg_catalog.age(n.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_language', l.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_language l
     WHERE true AND pg_catalog.age(l.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_extension', x.oid, NULL, x.extnamespace,
           true
      FROM pg_catalog.pg_extension x
     WHERE true AND pg_catalog.age(x.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_foreign_server', s.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_foreign_server s
     WHERE true AND pg_catalog.age(s.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_foreign_data_wrapper', w.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_foreign_data_wrapper w
     WHERE true AND pg_catalog.age(w.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_ts_config', c.oid, NULL, c.cfgnamespace,
           true
      FROM pg_catalog.pg_ts_config c
     WHERE true AND pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_ts_dict', c.oid, NULL, c.dictnamespace,
           true
      FROM pg_catalog.pg_ts_dict c
     WHERE true AND pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_ts_parser', c.oid, NULL, c.prsnamespace,
           true
      FROM pg_catalog.pg_ts_parser c
     WHERE true AND pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_ts_template', c.oid, NULL, c.tmplnamespace,
           true
      FROM pg_catalog.pg_ts_template c
     WHERE true AND pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_transform', tr.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_transform tr
     WHERE true AND pg_catalog.age(tr.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_default_acl', da.oid, NULL, NULL,
           true
      FROM pg_catalog.pg_default_acl da
     WHERE true AND pg_catalog.age(da.xmin) <= (SELECT age FROM boundary)
-- An object that joined an extension (ALTER EXTENSION ADD): it leaves
-- the capture.
UNION ALL
    SELECT 'pg_depend', m.objid, NULL, NULL,
           true
      FROM members m WHERE pg_catalog.age(m.xmin) <= (SELECT age FROM boundary)
-- Any change of these is read again in full.
UNION ALL
    SELECT 'pg_opclass', NULL, NULL, NULL,
           true
      FROM pg_catalog.pg_opclass c WHERE pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_opfamily', NULL, NULL, NULL,
           true
      FROM pg_catalog.pg_opfamily c WHERE pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_am', NULL, NULL, NULL,
           true
      FROM pg_catalog.pg_am c WHERE pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
UNION ALL
    SELECT 'pg_cast', NULL, NULL, NULL,
           true
      FROM pg_catalog.pg_cast c WHERE pg_catalog.age(c.xmin) <= (SELECT age FROM boundary)
),
tables AS MATERIALIZED (
    SELECT c.oid
      FROM pg_catalog.pg_class c
      JOIN ns ON ns.oid = c.relnamespace
     WHERE c.oid >= 16384
       AND c.relkind IN ('r', 'p', 'f')
       AND c.oid NOT IN (SELECT m.objid FROM members m
                          WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
),
other_relations AS MATERIALIZED (
    SELECT c.oid FROM pg_catalog.pg_class c
     WHERE c.oid >= 16384 AND c.relkind IN ('v', 'm', 'S', 'c')
),
-- Comments on a table's parts count for the table.
comments (unit) AS (
    SELECT CASE d.classoid
             WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
               coalesce((SELECT x.indrelid FROM pg_catalog.pg_index x
                          WHERE x.indexrelid = d.objoid), d.objoid)
             WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
               (SELECT co.conrelid FROM pg_catalog.pg_constraint co WHERE co.oid = d.objoid)
             WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
               (SELECT tg.tgrelid FROM pg_catalog.pg_trigger tg WHERE tg.oid = d.objoid)
             WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN
               (SELECT pol.polrelid FROM pg_catalog.pg_policy pol WHERE pol.oid = d.objoid)
             WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
               (SELECT rw.ev_class FROM pg_catalog.pg_rewrite rw WHERE rw.oid = d.objoid)
             WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN
               (SELECT st.stxrelid FROM pg_catalog.pg_statistic_ext st WHERE st.oid = d.objoid)
           END
      FROM pg_catalog.pg_description d
     WHERE d.objoid >= 16384
),
-- How many rows of each catalog hang off each table.
parts (catalog, unit, n) AS (
    SELECT 'pg_index', x.indrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_index x WHERE x.indrelid >= 16384 GROUP BY x.indrelid
    UNION ALL
    SELECT 'invalid index', x.indrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_index x WHERE x.indrelid >= 16384 AND NOT x.indisvalid GROUP BY x.indrelid
    UNION ALL
    SELECT 'pg_constraint', co.conrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_constraint co WHERE co.conrelid >= 16384 GROUP BY co.conrelid
    UNION ALL
    SELECT 'pg_attrdef', ad.adrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid >= 16384 GROUP BY ad.adrelid
    UNION ALL
    SELECT 'pg_trigger', tg.tgrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid >= 16384 GROUP BY tg.tgrelid
    UNION ALL
    SELECT 'pg_policy', pol.polrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_policy pol WHERE pol.polrelid >= 16384 GROUP BY pol.polrelid
    UNION ALL
    SELECT 'pg_rewrite', rw.ev_class, pg_catalog.count(*)
      FROM pg_catalog.pg_rewrite rw WHERE rw.ev_class >= 16384 GROUP BY rw.ev_class
    UNION ALL
    SELECT 'pg_statistic_ext', st.stxrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_statistic_ext st WHERE st.stxrelid >= 16384 GROUP BY st.stxrelid
    UNION ALL
    SELECT 'pg_inherits', i.inhrelid, pg_catalog.count(*)
      FROM pg_catalog.pg_inherits i WHERE i.inhrelid >= 16384 GROUP BY i.inhrelid
    UNION ALL
    SELECT 'pg_description', c.unit, pg_catalog.count(*)
      FROM comments c WHERE c.unit IS NOT NULL GROUP BY c.unit
)
SELECT 'table'::pg_catalog.text AS kind, NULL::pg_catalog.text AS catalog, t.oid AS own,
       NULL::pg_catalog.oid AS attr, NULL::pg_catalog.oid AS nsp, NULL::pg_catalog.int8 AS n
  FROM tables t
UNION ALL
SELECT 'count', p.catalog, p.unit, NULL, NULL, p.n
  FROM parts p
 WHERE p.unit IN (SELECT t.oid FROM tables t)
UNION ALL
SELECT 'young', y.catalog, y.own, y.attr, y.nsp, y.other::pg_catalog.int4::pg_catalog.int8
  FROM young y
UNION ALL
SELECT 'other', o.catalog, NULL, NULL, NULL, o.n
  FROM (SELECT 'relations', (SELECT pg_catalog.count(*) FROM other_relations)
        UNION ALL SELECT 'pg_proc', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p
                                      WHERE p.oid >= 16384)
        UNION ALL SELECT 'pg_type', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t
                                      WHERE t.oid >= 16384 AND t.typtype <> 'c'
                                        AND t.typcategory <> 'A')
        UNION ALL SELECT 'pg_namespace', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_namespace)
        UNION ALL SELECT 'pg_extension', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_extension)
        UNION ALL SELECT 'pg_collation', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_collation cl
                                           WHERE cl.oid >= 16384)
        UNION ALL SELECT 'pg_operator', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o
                                          WHERE o.oid >= 16384)
        UNION ALL SELECT 'pg_default_acl', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_default_acl)
        UNION ALL SELECT 'domain constraints', (SELECT pg_catalog.count(*)
                                                  FROM pg_catalog.pg_constraint co
                                                 WHERE co.contypid <> 0 AND co.oid >= 16384)
        UNION ALL SELECT 'comments', (SELECT pg_catalog.count(*) FROM comments c
                                       WHERE c.unit IS NULL
                                          OR c.unit NOT IN (SELECT t.oid FROM tables t))
        -- (the parts of views, materialized views, sequences, composite types)
        UNION ALL SELECT 'parts', (SELECT pg_catalog.sum(
                                            (SELECT pg_catalog.count(*) FROM pg_catalog.pg_index x
                                              WHERE x.indrelid = r.oid)
                                          + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger tg
                                              WHERE tg.tgrelid = r.oid)
                                          + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_rewrite rw
                                              WHERE rw.ev_class = r.oid)
                                          + (SELECT pg_catalog.count(*)
                                               FROM pg_catalog.pg_statistic_ext st
                                              WHERE st.stxrelid = r.oid))::pg_catalog.int8
                                     FROM other_relations r)
       ) o (catalog, n)
UNION ALL
SELECT 'total', c.catalog, NULL, NULL, NULL, c.n
  FROM (SELECT 'pg_opclass', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opclass)
        UNION ALL SELECT 'pg_opfamily', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opfamily)
        UNION ALL SELECT 'pg_am', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_am)
        UNION ALL SELECT 'pg_cast', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_cast)
        -- (an object that left an extension, ALTER EXTENSION DROP, joins the capture)
        UNION ALL SELECT 'extension members', (SELECT pg_catalog.count(*) FROM members)
       ) c (catalog, n)
UNION ALL
SELECT 'next',
       (pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot())
          % 4294967296)::pg_catalog.text,
       GREATEST(
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_class),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_type),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_proc),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_constraint),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_attrdef),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_trigger),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_policy),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_rewrite),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_statistic_ext),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_namespace),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_operator),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_collation),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_language),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_extension),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_foreign_server),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_foreign_data_wrapper),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_ts_config),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_ts_dict),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_transform),
         (SELECT pg_catalog.max(oid) FROM pg_catalog.pg_default_acl)),
       NULL, NULL, NULL
