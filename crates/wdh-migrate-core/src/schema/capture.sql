WITH ns AS MATERIALIZED (
    SELECT n.oid, quote_ident(n.nspname) AS q, n.nspacl, n.nspowner
      FROM pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND left(n.nspname, 8) <> 'pg_toast'
       AND left(n.nspname, 7) <> 'pg_temp'
       AND n.nspname::text <> ALL ({exclude})
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                          AND d.deptype = 'e')
),
heap AS (
    SELECT am.oid FROM pg_am am WHERE am.amname = 'heap'
),
rel AS MATERIALIZED (
    SELECT c.oid, c.relkind, c.relpersistence, c.reloptions, c.relacl, c.relowner, c.relam,
           c.reltablespace, c.reltoastrelid, c.reloftype, c.relispartition, c.relpartbound,
           c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
           ns.q AS nsq, ns.q || '.' || quote_ident(c.relname) AS qname,
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'type' ELSE 'table' END AS prefix,
           CASE WHEN c.relkind IN ('r', 'p', 'f') THEN c.oid END AS unit
      FROM pg_class c
      JOIN ns ON ns.oid = c.relnamespace
     WHERE c.oid >= 16384
       AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')
       -- A table is read with everything that hangs off it (its `unit`) only
       -- where the caller asks for it, the other relations with the rest of
       -- the schema, where the caller asks for that.
       AND CASE WHEN c.relkind IN ('r', 'p', 'f') THEN {tables} ELSE {others} END
       -- (OFFSET 0: one index lookup per relation, whatever the planner
       -- estimates, rather than a scan of all of pg_depend)
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype = 'i'))
                       OFFSET 0)
),
fn AS MATERIALIZED (
    SELECT p.oid, p.prokind, p.proacl, p.proowner,
           CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate '
                ELSE 'function ' END
             || ns.q || '.' || quote_ident(p.proname)
             || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key
      FROM pg_proc p
      JOIN ns ON ns.oid = p.pronamespace
     WHERE {others}
       AND p.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype IN ('e', 'i'))
),
typ AS MATERIALIZED (
    SELECT t.oid, t.typtype, t.typacl, t.typowner, t.typrelid, t.typbasetype, t.typtypmod,
           t.typcollation, t.typdefaultbin, t.typnotnull,
           ns.q || '.' || quote_ident(t.typname) AS qname
      FROM pg_type t
      JOIN ns ON ns.oid = t.typnamespace
     WHERE {others}
       AND t.oid >= 16384
       AND t.typtype <> 'm'
       AND (t.typrelid = 0
            OR EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
       AND NOT (t.typelem <> 0 AND t.typlen = -1
                AND EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid))
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                          AND d.deptype IN ('e', 'i'))
),
-- Indexes, found from their tables (an index is in `rel` when its table is,
-- unless it belongs to an extension itself).
idx AS MATERIALIZED (
    SELECT ic.oid, 'index ' || t.nsq || '.' || quote_ident(ic.relname) AS key,
           x.indexrelid, x.indrelid, x.indisvalid, ic.reltablespace, t.unit,
           EXISTS (SELECT FROM pg_constraint co
                    WHERE co.conindid = x.indexrelid
                      AND co.conrelid = x.indrelid
                      AND co.contype IN ('p', 'u', 'x')) AS of_constraint
      FROM rel t
      JOIN pg_index x ON x.indrelid = t.oid
      JOIN pg_class ic ON ic.oid = x.indexrelid
     WHERE NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = ic.oid
                          AND d.deptype = 'e'
                       OFFSET 0)
),
obj (classid, objid, key, def, acl, owner, aclkind, unit) AS MATERIALIZED (
    SELECT 'pg_namespace'::regclass::oid, ns.oid, 'schema ' || ns.q, ''::text,
           ns.nspacl, ns.nspowner, 'n'::text, NULL::oid
      FROM ns
     WHERE {others}
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, 'table ' || r.qname,
           concat(
             CASE WHEN r.relpersistence = 'u' THEN 'unlogged ' END,
             CASE r.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table'
                  ELSE 'table' END,
             ' (',
             (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                FROM pg_attribute a
               WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
             ')',
             CASE WHEN r.reloftype <> 0 THEN E'\nof type ' || format_type(r.reloftype, NULL) END,
             CASE WHEN r.relkind = 'p' THEN E'\npartition by ' || pg_get_partkeydef(r.oid) END,
             CASE WHEN r.relispartition THEN
               (SELECT E'\npartition of ' || i.inhparent::regclass::text || ' '
                       || pg_get_expr(r.relpartbound, r.oid)
                  FROM pg_inherits i WHERE i.inhrelid = r.oid)
             ELSE
               (SELECT E'\ninherits ' || string_agg(i.inhparent::regclass::text, ', '
                                                    ORDER BY i.inhseqno)
                  FROM pg_inherits i WHERE i.inhrelid = r.oid)
             END,
             CASE WHEN r.reloptions IS NOT NULL THEN
               E'\nwith (' || array_to_string(ARRAY(SELECT o FROM unnest(r.reloptions) o
                                                    ORDER BY o), ', ') || ')'
             END,
             -- (each lookup only where there can be something to find)
             CASE WHEN r.reltoastrelid <> 0 THEN
               (SELECT E'\nwith toast (' || array_to_string(ARRAY(SELECT o FROM unnest(tc.reloptions) o
                                                                  ORDER BY o), ', ') || ')'
                  FROM pg_class tc WHERE tc.oid = r.reltoastrelid AND tc.reloptions IS NOT NULL)
             END,
             CASE WHEN r.relam <> 0 AND r.relam <> (SELECT h.oid FROM heap h) THEN
               (SELECT E'\nusing ' || quote_ident(am.amname)
                  FROM pg_am am WHERE am.oid = r.relam AND am.amname <> 'heap')
             END,
             CASE WHEN r.reltablespace <> 0 THEN
               (SELECT E'\ntablespace ' || quote_ident(ts.spcname)
                  FROM pg_tablespace ts WHERE ts.oid = r.reltablespace)
             END,
             CASE WHEN r.relrowsecurity OR r.relforcerowsecurity THEN
               E'\nrow level security '
               || CASE WHEN r.relrowsecurity THEN 'enabled' ELSE 'disabled' END
               || CASE WHEN r.relforcerowsecurity THEN ', forced' ELSE '' END
             END,
             -- (foreign tables have no replica identity)
             CASE (CASE WHEN r.relkind <> 'f' THEN r.relreplident END)
               WHEN 'f' THEN E'\nreplica identity full'
               WHEN 'n' THEN E'\nreplica identity nothing'
               WHEN 'i' THEN E'\nreplica identity using index '
                 || (SELECT quote_ident(ic.relname) FROM pg_index x
                       JOIN pg_class ic ON ic.oid = x.indexrelid
                      WHERE x.indrelid = r.oid AND x.indisreplident)
             END,
             (SELECT E'\nclustered on ' || quote_ident(ic.relname) FROM pg_class ic
               WHERE ic.oid = (SELECT x.indexrelid FROM pg_index x
                                WHERE x.indrelid = r.oid AND x.indisclustered)),
             CASE WHEN r.relkind = 'f' THEN
             (SELECT E'\nserver ' || quote_ident(s.srvname)
                     || CASE WHEN ft.ftoptions IS NOT NULL THEN
                          ' options (' || array_to_string(ARRAY(SELECT o FROM unnest(ft.ftoptions) o
                                                                ORDER BY o), ', ') || ')'
                        ELSE '' END
                FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
               WHERE ft.ftrelid = r.oid)
             END
           ),
           r.relacl, r.relowner, 'r', r.unit
      FROM rel r
     WHERE r.relkind IN ('r', 'p', 'f')
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, r.prefix || ' ' || r.qname,
           concat(
             r.prefix,
             CASE WHEN r.reloptions IS NOT NULL THEN
               ' with (' || array_to_string(ARRAY(SELECT o FROM unnest(r.reloptions) o
                                                   ORDER BY o), ', ') || ')'
             END,
             (SELECT ' using ' || quote_ident(am.amname)
                FROM pg_am am WHERE am.oid = r.relam AND am.amname <> 'heap'),
             (SELECT ' tablespace ' || quote_ident(ts.spcname)
                FROM pg_tablespace ts WHERE ts.oid = r.reltablespace),
             (SELECT ' clustered on ' || quote_ident(ic.relname) FROM pg_index x
                JOIN pg_class ic ON ic.oid = x.indexrelid
               WHERE x.indrelid = r.oid AND x.indisclustered),
             E'\n',
             pg_get_viewdef(r.oid)
           ),
           r.relacl, r.relowner, 'r', r.unit
      FROM rel r
     WHERE r.relkind IN ('v', 'm')
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, 'sequence ' || r.qname,
           concat(
             CASE WHEN r.relpersistence = 'u' THEN 'unlogged ' END,
             'sequence AS ', format_type(s.seqtypid, NULL),
             ' START ', s.seqstart, ' INCREMENT ', s.seqincrement,
             ' MINVALUE ', s.seqmin, ' MAXVALUE ', s.seqmax, ' CACHE ', s.seqcache,
             CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END,
             (SELECT ' OWNED BY ' || string_agg(d.refobjid::regclass::text || '.'
                                                 || quote_ident(a.attname), ', ')
                FROM pg_depend d
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                 AND d.deptype = 'a')
           ),
           r.relacl, r.relowner, 's', r.unit
      FROM rel r
      JOIN pg_sequence s ON s.seqrelid = r.oid
UNION ALL
    SELECT 'pg_class'::regclass, i.oid, i.key,
           CASE WHEN NOT i.of_constraint THEN
             concat(
               pg_get_indexdef(i.indexrelid),
               (SELECT E'\ntablespace ' || quote_ident(ts.spcname)
                  FROM pg_tablespace ts WHERE ts.oid = i.reltablespace),
               CASE WHEN NOT i.indisvalid THEN E'\ninvalid' END
             )
           END,
           NULL, NULL, NULL, i.unit
      FROM idx i
UNION ALL
    SELECT 'pg_constraint'::regclass, co.oid,
           'constraint ' || r.qname || '.' || quote_ident(co.conname),
           pg_get_constraintdef(co.oid),
           NULL, NULL, NULL, r.unit
      FROM pg_constraint co
      JOIN rel r ON r.oid = co.conrelid
     WHERE co.contype <> 't'
       AND NOT (co.contype = 'f' AND co.conparentid <> 0)
UNION ALL
    SELECT 'pg_constraint'::regclass, co.oid,
           'constraint ' || t.qname || '.' || quote_ident(co.conname),
           NULL, NULL, NULL, NULL, NULL
      FROM pg_constraint co
      JOIN typ t ON t.oid = co.contypid
UNION ALL
    SELECT 'pg_trigger'::regclass, tg.oid,
           'trigger ' || r.qname || '.' || quote_ident(tg.tgname),
           pg_get_triggerdef(tg.oid)
             || CASE tg.tgenabled WHEN 'D' THEN E'\ndisabled'
                  WHEN 'R' THEN E'\nenabled replica' WHEN 'A' THEN E'\nenabled always'
                  ELSE '' END,
           NULL, NULL, NULL, r.unit
      FROM pg_trigger tg
      JOIN rel r ON r.oid = tg.tgrelid
     WHERE NOT tg.tgisinternal
UNION ALL
    SELECT 'pg_policy'::regclass, pol.oid,
           'policy ' || r.qname || '.' || quote_ident(pol.polname),
           concat(
             CASE WHEN pol.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END,
             ' FOR ', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                        WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
             ' TO ',
             (SELECT string_agg(g.name, ', ' ORDER BY g.name)
                FROM (SELECT CASE WHEN ro = 0 THEN 'PUBLIC'
                                  ELSE quote_ident(pg_get_userbyid(ro)) END AS name
                        FROM unnest(pol.polroles) ro) g),
             ' USING (' || pg_get_expr(pol.polqual, pol.polrelid) || ')',
             ' WITH CHECK (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')'
           ),
           NULL, NULL, NULL, r.unit
      FROM pg_policy pol
      JOIN rel r ON r.oid = pol.polrelid
UNION ALL
    SELECT 'pg_rewrite'::regclass, rw.oid,
           'rule ' || r.qname || '.' || quote_ident(rw.rulename),
           pg_get_ruledef(rw.oid)
             || CASE rw.ev_enabled WHEN 'D' THEN E'\ndisabled'
                  WHEN 'R' THEN E'\nenabled replica' WHEN 'A' THEN E'\nenabled always'
                  ELSE '' END,
           NULL, NULL, NULL, r.unit
      FROM pg_rewrite rw
      JOIN rel r ON r.oid = rw.ev_class
     WHERE rw.rulename <> '_RETURN'
UNION ALL
    SELECT 'pg_proc'::regclass, f.oid, f.key,
           CASE WHEN f.prokind = 'a' THEN
             (SELECT concat_ws(', ',
                       'aggregate returns ' || pg_get_function_result(f.oid),
                       CASE ag.aggkind WHEN 'o' THEN 'ordered-set'
                            WHEN 'h' THEN 'hypothetical' END,
                       'sfunc = ' || ag.aggtransfn::oid::regprocedure::text,
                       'stype = ' || format_type(ag.aggtranstype, NULL),
                       'finalfunc = ' || NULLIF(ag.aggfinalfn::oid, 0::oid)::regprocedure::text,
                       'combinefunc = '
                         || NULLIF(ag.aggcombinefn::oid, 0::oid)::regprocedure::text,
                       'serialfunc = ' || NULLIF(ag.aggserialfn::oid, 0::oid)::regprocedure::text,
                       'deserialfunc = '
                         || NULLIF(ag.aggdeserialfn::oid, 0::oid)::regprocedure::text,
                       'msfunc = ' || NULLIF(ag.aggmtransfn::oid, 0::oid)::regprocedure::text,
                       'minvfunc = ' || NULLIF(ag.aggminvtransfn::oid, 0::oid)::regprocedure::text,
                       'mfinalfunc = '
                         || NULLIF(ag.aggmfinalfn::oid, 0::oid)::regprocedure::text,
                       'mstype = ' || format_type(NULLIF(ag.aggmtranstype, 0::oid), NULL),
                       'initcond = ' || quote_literal(ag.agginitval),
                       'minitcond = ' || quote_literal(ag.aggminitval),
                       'sortop = ' || NULLIF(ag.aggsortop, 0::oid)::regoperator::text)
                FROM pg_aggregate ag WHERE ag.aggfnoid = f.oid)
           ELSE pg_get_functiondef(f.oid) END,
           f.proacl, f.proowner, 'f', NULL
      FROM fn f
UNION ALL
    SELECT 'pg_type'::regclass, t.oid, 'type ' || t.qname,
           CASE t.typtype
             WHEN 'e' THEN
               concat('enum (',
                      (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                         ORDER BY e.enumsortorder)
                         FROM pg_enum e WHERE e.enumtypid = t.oid),
                      ')')
             WHEN 'd' THEN
               concat('domain ', format_type(t.typbasetype, t.typtypmod),
                      (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.'
                              || quote_ident(cl.collname)
                         FROM pg_collation cl
                         JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                         JOIN pg_type bt ON bt.oid = t.typbasetype
                        WHERE cl.oid = t.typcollation AND t.typcollation <> bt.typcollation),
                      ' DEFAULT ' || pg_get_expr(t.typdefaultbin, 0),
                      CASE WHEN t.typnotnull THEN ' NOT NULL' END,
                      (SELECT string_agg(E'\nCONSTRAINT ' || quote_ident(co.conname) || ' '
                                         || pg_get_constraintdef(co.oid), '' ORDER BY co.conname)
                         FROM pg_constraint co WHERE co.contypid = t.oid))
             WHEN 'c' THEN
               concat('composite (',
                      (SELECT string_agg(quote_ident(a.attname) || ' '
                                         || format_type(a.atttypid, a.atttypmod)
                                         || coalesce(
                                              (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.'
                                                      || quote_ident(cl.collname)
                                                 FROM pg_collation cl
                                                 JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                                                 JOIN pg_type at ON at.oid = a.atttypid
                                                WHERE cl.oid = a.attcollation
                                                  AND a.attcollation <> at.typcollation), ''),
                                         ', ' ORDER BY a.attnum)
                         FROM pg_attribute a
                        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                      ')')
             WHEN 'r' THEN
               (SELECT concat_ws(', ',
                         'range (subtype = ' || format_type(rg.rngsubtype, NULL),
                         'subtype_opclass = ' || (SELECT quote_ident(opc.opcname)
                                                    FROM pg_opclass opc
                                                   WHERE opc.oid = rg.rngsubopc
                                                     AND NOT opc.opcdefault),
                         'collation = ' || (SELECT quote_ident(cn.nspname) || '.'
                                                   || quote_ident(cl.collname)
                                              FROM pg_collation cl
                                              JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                                              JOIN pg_type st ON st.oid = rg.rngsubtype
                                             WHERE cl.oid = rg.rngcollation
                                               AND rg.rngcollation <> st.typcollation),
                         'canonical = ' || NULLIF(rg.rngcanonical::oid, 0::oid)::regprocedure::text,
                         'subtype_diff = '
                           || NULLIF(rg.rngsubdiff::oid, 0::oid)::regprocedure::text,
                         'multirange_type_name = '
                           || format_type(NULLIF((to_jsonb(rg) ->> 'rngmultitypid')::oid, 0::oid),
                                          NULL)) || ')'
                  FROM pg_range rg WHERE rg.rngtypid = t.oid)
             WHEN 'p' THEN 'shell type'
             ELSE
               (SELECT concat_ws(', ',
                         'base type (input = ' || bt.typinput::oid::regprocedure::text,
                         'output = ' || bt.typoutput::oid::regprocedure::text,
                         'receive = ' || NULLIF(bt.typreceive::oid, 0::oid)::regprocedure::text,
                         'send = ' || NULLIF(bt.typsend::oid, 0::oid)::regprocedure::text,
                         'typmod_in = ' || NULLIF(bt.typmodin::oid, 0::oid)::regprocedure::text,
                         'typmod_out = ' || NULLIF(bt.typmodout::oid, 0::oid)::regprocedure::text,
                         'analyze = ' || NULLIF(bt.typanalyze::oid, 0::oid)::regprocedure::text,
                         'internallength = ' || bt.typlen,
                         CASE WHEN bt.typbyval THEN 'passedbyvalue' END,
                         'alignment = ' || bt.typalign::text, 'storage = ' || bt.typstorage::text,
                         'category = ' || bt.typcategory::text,
                         'element = ' || format_type(NULLIF(bt.typelem, 0::oid), NULL),
                         'delimiter = ' || quote_literal(bt.typdelim::text)) || ')'
                  FROM pg_type bt WHERE bt.oid = t.oid)
           END,
           t.typacl, t.typowner, 'T', NULL
      FROM typ t
UNION ALL
    -- Stands for everything the extension's script creates, its comment
    -- included (so 'pg_extension' is not a comment's catalog here).
    SELECT 0::oid, e.oid, 'extension ' || quote_ident(e.extname),
           'version ' || e.extversion || ', schema ' || ns.q,
           NULL, NULL, NULL, NULL
      FROM pg_extension e
      JOIN ns ON ns.oid = e.extnamespace
     WHERE {others}
UNION ALL
    SELECT 'pg_collation'::regclass, cl.oid, 'collation ' || ns.q || '.' || quote_ident(cl.collname),
           (SELECT concat_ws(', ',
                     'provider ' || CASE cl.collprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu'
                                      WHEN 'd' THEN 'default' ELSE cl.collprovider::text END,
                     'locale ' || quote_literal(coalesce(j ->> 'colllocale', j ->> 'colliculocale')),
                     'lc_collate ' || quote_literal(j ->> 'collcollate'),
                     'lc_ctype ' || quote_literal(j ->> 'collctype'),
                     'rules ' || quote_literal(j ->> 'collicurules'),
                     CASE WHEN NOT cl.collisdeterministic THEN 'nondeterministic' END)
              FROM (SELECT to_jsonb(cl) AS j) x),
           NULL, NULL, NULL, NULL
      FROM pg_collation cl
      JOIN ns ON ns.oid = cl.collnamespace
     WHERE {others}
       AND cl.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_collation'::regclass AND d.objid = cl.oid
                          AND d.deptype = 'e')
UNION ALL
    SELECT 'pg_operator'::regclass, o.oid,
           'operator ' || ns.q || '.' || o.oprname
             || '(' || coalesce(format_type(NULLIF(o.oprleft, 0::oid), NULL), 'NONE')
             || ', ' || coalesce(format_type(NULLIF(o.oprright, 0::oid), NULL), 'NONE') || ')',
           concat_ws(', ',
             'function = ' || o.oprcode::oid::regprocedure::text,
             'commutator = ' || NULLIF(o.oprcom, 0::oid)::regoperator::text,
             'negator = ' || NULLIF(o.oprnegate, 0::oid)::regoperator::text,
             'restrict = ' || NULLIF(o.oprrest::oid, 0::oid)::regprocedure::text,
             'join = ' || NULLIF(o.oprjoin::oid, 0::oid)::regprocedure::text,
             CASE WHEN o.oprcanhash THEN 'hashes' END,
             CASE WHEN o.oprcanmerge THEN 'merges' END),
           NULL, NULL, NULL, NULL
      FROM pg_operator o
      JOIN ns ON ns.oid = o.oprnamespace
     WHERE {others}
       AND o.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_operator'::regclass AND d.objid = o.oid
                          AND d.deptype = 'e')
UNION ALL
    SELECT 'pg_statistic_ext'::regclass, s.oid,
           'statistics ' || ns.q || '.' || quote_ident(s.stxname),
           pg_get_statisticsobjdef(s.oid)
             || coalesce((SELECT E'\nstatistics target ' || v
                            FROM (SELECT to_jsonb(s) ->> 'stxstattarget' AS v) x
                           WHERE v::int >= 0), ''),
           NULL, NULL, NULL, r.unit
      FROM pg_statistic_ext s
      JOIN ns ON ns.oid = s.stxnamespace
      JOIN rel r ON r.oid = s.stxrelid
),
cols AS (
    SELECT r.oid, r.qname, a.attnum, a.attacl, r.relowner, r.unit,
           'column ' || r.qname || '.' || quote_ident(a.attname) AS key,
           concat(
             format_type(a.atttypid, a.atttypmod),
             (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(cl.collname)
                FROM pg_collation cl JOIN pg_namespace cn ON cn.oid = cl.collnamespace
               WHERE cl.oid = a.attcollation AND a.attcollation <> t.typcollation),
             CASE WHEN a.attgenerated = 's' THEN
               ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
             ELSE ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) END,
             CASE WHEN a.attnotnull THEN ' NOT NULL' END,
             CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                  WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' END,
             CASE WHEN a.attidentity <> '' THEN
               (SELECT ' (' || NULLIF(concat_ws(' ',
                   CASE WHEN s.seqstart <> CASE WHEN s.seqincrement > 0 THEN s.seqmin
                                                ELSE s.seqmax END
                        THEN 'START ' || s.seqstart END,
                   CASE WHEN s.seqincrement <> 1 THEN 'INCREMENT ' || s.seqincrement END,
                   CASE WHEN s.seqmin <> CASE WHEN s.seqincrement > 0 THEN 1
                          ELSE CASE s.seqtypid WHEN 'int2'::regtype::oid THEN -32768
                                 WHEN 'int4'::regtype::oid THEN -2147483648
                                 ELSE -9223372036854775808 END END
                        THEN 'MINVALUE ' || s.seqmin END,
                   CASE WHEN s.seqmax <> CASE WHEN s.seqincrement < 0 THEN -1
                          ELSE CASE s.seqtypid WHEN 'int2'::regtype::oid THEN 32767
                                 WHEN 'int4'::regtype::oid THEN 2147483647
                                 ELSE 9223372036854775807 END END
                        THEN 'MAXVALUE ' || s.seqmax END,
                   CASE WHEN s.seqcache <> 1 THEN 'CACHE ' || s.seqcache END,
                   CASE WHEN s.seqcycle THEN 'CYCLE' END), '') || ')'
                  FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                   AND d.deptype = 'i')
             END,
             CASE WHEN a.attstorage <> t.typstorage THEN
               ' STORAGE ' || CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL'
                                WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
             END,
             {compression},
             CASE WHEN a.attstattarget >= 0 THEN ' STATISTICS ' || a.attstattarget END,
             CASE WHEN a.attoptions IS NOT NULL THEN
               ' WITH (' || array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o
                                                   ORDER BY o), ', ') || ')'
             END,
             CASE WHEN a.attfdwoptions IS NOT NULL THEN
               ' OPTIONS (' || array_to_string(ARRAY(SELECT o FROM unnest(a.attfdwoptions) o
                                                      ORDER BY o), ', ') || ')'
             END
           ) AS def
      FROM rel r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p', 'f')
),
acl_obj AS (
    SELECT key, acl, owner, aclkind, unit FROM obj WHERE acl IS NOT NULL
UNION ALL
    SELECT key, attacl, relowner, 'c', unit FROM cols WHERE attacl IS NOT NULL
UNION ALL
    SELECT 'column ' || r.qname || '.' || quote_ident(a.attname), a.attacl, r.relowner, 'c', r.unit
      FROM rel r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE r.relkind IN ('v', 'm') AND a.attacl IS NOT NULL
),
acl_have AS (
    SELECT o.key, o.unit, o.owner, e.grantor, e.grantee, e.privilege_type, e.is_grantable
      FROM acl_obj o, LATERAL aclexplode(o.acl) e
),
acl_default AS (
    SELECT o.key, o.unit, o.owner, e.grantor, e.grantee, e.privilege_type, e.is_grantable
      FROM acl_obj o, LATERAL aclexplode(acldefault(o.aclkind::"char", o.owner)) e
),
acl_delta AS (
    SELECT 'GRANT' AS verb, g.* FROM (SELECT * FROM acl_have EXCEPT SELECT * FROM acl_default) g
UNION ALL
    SELECT 'REVOKE', r.* FROM (SELECT * FROM acl_default EXCEPT SELECT * FROM acl_have) r
),
acl_lines AS (
    SELECT key, unit,
           concat(verb, ' ', string_agg(privilege_type, ', ' ORDER BY privilege_type),
                  CASE verb WHEN 'GRANT' THEN ' TO ' ELSE ' FROM ' END,
                  CASE WHEN grantee = 0 THEN 'PUBLIC' WHEN grantee = owner THEN '<owner>'
                       ELSE quote_ident(pg_get_userbyid(grantee)) END,
                  CASE WHEN is_grantable THEN ' WITH GRANT OPTION' END,
                  CASE WHEN grantor <> owner THEN
                    ' GRANTED BY ' || quote_ident(pg_get_userbyid(grantor)) END) AS line
      FROM acl_delta
     GROUP BY key, unit, owner, verb, grantee, grantor, is_grantable
)
SELECT key, def, unit FROM obj WHERE def IS NOT NULL
UNION ALL
SELECT key, def, unit FROM cols
UNION ALL
SELECT 'comment ' || o.key, d.description, o.unit
  FROM obj o,
       -- one lookup per object (OFFSET 0 keeps it one)
       LATERAL (SELECT d.description FROM pg_description d
                 WHERE d.objoid = o.objid AND d.classoid = o.classid AND d.objsubid = 0
                OFFSET 0) d
 WHERE o.objid >= 16384
UNION ALL
SELECT 'comment schema ' || ns.q, c.description, NULL
  FROM ns, LATERAL (SELECT d.description FROM pg_description d
                     WHERE d.objoid = ns.oid AND d.classoid = 'pg_namespace'::regclass
                       AND d.objsubid = 0 AND ns.oid < 16384) c
 WHERE {others}
UNION ALL
SELECT 'comment column ' || r.qname || '.' || quote_ident(a.attname), d.description, r.unit
  FROM rel r,
       LATERAL (SELECT d.objsubid, d.description FROM pg_description d
                 WHERE d.objoid = r.oid AND d.classoid = 'pg_class'::regclass
                   AND d.objsubid > 0
                OFFSET 0) d,
       LATERAL (SELECT a.attname FROM pg_attribute a
                 WHERE a.attrelid = r.oid AND a.attnum = d.objsubid
                OFFSET 0) a
UNION ALL
SELECT 'grant ' || key, string_agg(line, E'\n' ORDER BY line), unit
  FROM acl_lines
 GROUP BY key, unit
UNION ALL
SELECT concat('default privileges for role ', quote_ident(pg_get_userbyid(da.defaclrole)),
              ' in schema ' || dns.q,
              ' on ', CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                        WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas'
                        ELSE da.defaclobjtype::text END),
       coalesce((SELECT string_agg(l.line, E'\n' ORDER BY l.line)
                   FROM (SELECT concat('GRANT ', string_agg(e.privilege_type, ', '
                                                            ORDER BY e.privilege_type),
                                       ' TO ', CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                                    ELSE quote_ident(pg_get_userbyid(e.grantee))
                                               END,
                                       CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' END)
                                AS line
                           FROM aclexplode(da.defaclacl) e
                          GROUP BY e.grantee, e.is_grantable) l),
                'no privileges'),
       NULL
  FROM pg_default_acl da
  LEFT JOIN ns dns ON dns.oid = da.defaclnamespace
 WHERE {others} AND (da.defaclnamespace = 0 OR dns.oid IS NOT NULL)
