-- The objects every database of the server shares: (key, definition,
-- secret noun, secret digest) rows. A row with a secret carries a SHA-256
-- digest of the value instead of the value, and no definition; the value
-- itself (a password hash, a setting that looks like a secret) never leaves
-- the server. `{passwords}`, `{file_settings}`, `{member_options}` and
-- `{parameter_acls}` are filled in by `globals.rs` from what this role may
-- read and the server version. Other `wdh_test_` databases are left out:
-- test runs create and drop them all the time. The database being checked
-- is named `the checked database` (its name is random).
WITH db AS MATERIALIZED (
    SELECT d.oid, d.datname, d.datdba, d.encoding, d.datcollate, d.datctype, d.datistemplate,
           d.datallowconn, d.datconnlimit, d.dattablespace, d.datacl,
           CASE WHEN d.datname = pg_catalog.current_database() THEN 'the checked database'
                ELSE 'database ' || pg_catalog.quote_ident(d.datname) END AS label
      FROM pg_catalog.pg_database d
     WHERE d.datname = pg_catalog.current_database()
        OR NOT pg_catalog.starts_with(d.datname, 'wdh_test_')
),
secret_name AS (
    SELECT '(password|passphrase|secret|conninfo|token)' AS pattern
)
SELECT 'role ' || pg_catalog.quote_ident(r.rolname),
       pg_catalog.concat_ws(' ',
           CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END,
           CASE WHEN r.rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END,
           CASE WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END,
           CASE WHEN r.rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END,
           CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
           CASE WHEN r.rolreplication THEN 'REPLICATION' ELSE 'NOREPLICATION' END,
           CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,
           'CONNECTION LIMIT ' || r.rolconnlimit,
           'VALID UNTIL ' || pg_catalog.to_char(r.rolvaliduntil AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD HH24:MI:SS') || ' UTC'),
       NULL, NULL
  FROM pg_catalog.pg_roles r
UNION ALL
{passwords}
UNION ALL
SELECT 'membership ' || pg_catalog.quote_ident(m.rolname) || ' in '
           || pg_catalog.quote_ident(g.rolname) || ' granted by '
           || COALESCE(pg_catalog.quote_ident(gr.rolname), 'a dropped role'),
       pg_catalog.concat_ws(' ',
           CASE WHEN a.admin_option THEN 'WITH ADMIN OPTION' ELSE 'WITHOUT ADMIN OPTION' END
           {member_options}),
       NULL, NULL
  FROM pg_catalog.pg_auth_members a
  JOIN pg_catalog.pg_roles m ON m.oid = a.member
  JOIN pg_catalog.pg_roles g ON g.oid = a.roleid
  LEFT JOIN pg_catalog.pg_roles gr ON gr.oid = a.grantor
UNION ALL
SELECT k.key,
       CASE WHEN k.secret THEN NULL ELSE k.value END,
       CASE WHEN k.secret THEN 'value' END,
       CASE WHEN k.secret THEN pg_catalog.encode(pg_catalog.sha256(
           pg_catalog.convert_to(k.value, 'UTF8')), 'hex') END
  FROM (SELECT 'setting ' || pg_catalog.split_part(c.setting, '=', 1)
                   || CASE WHEN s.setrole = 0 THEN ' for every role'
                           ELSE ' for role ' || COALESCE(pg_catalog.quote_ident(r.rolname),
                                                         'a dropped role') END
                   || CASE WHEN s.setdatabase = 0 THEN ' in every database'
                           ELSE ' in ' || db.label END AS key,
               pg_catalog.substr(c.setting, pg_catalog.strpos(c.setting, '=') + 1) AS value,
               pg_catalog.split_part(c.setting, '=', 1) ~* (SELECT pattern FROM secret_name)
                   AS secret
          FROM pg_catalog.pg_db_role_setting s
          LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
          LEFT JOIN db ON db.oid = s.setdatabase
          CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting)
         WHERE s.setdatabase = 0 OR db.oid IS NOT NULL) k
UNION ALL
SELECT 'tablespace ' || pg_catalog.quote_ident(t.spcname),
       pg_catalog.concat_ws(' ',
           'OWNER ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(t.spcowner)),
           'LOCATION ' || pg_catalog.quote_literal(pg_catalog.pg_tablespace_location(t.oid)),
           'OPTIONS ' || pg_catalog.array_to_string(t.spcoptions, ','),
           'PRIVILEGES ' || t.spcacl::text),
       NULL, NULL
  FROM pg_catalog.pg_tablespace t
UNION ALL
SELECT db.label,
       pg_catalog.concat_ws(' ',
           'OWNER ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(db.datdba)),
           'ENCODING ' || pg_catalog.pg_encoding_to_char(db.encoding),
           'LC_COLLATE ' || pg_catalog.quote_literal(db.datcollate),
           'LC_CTYPE ' || pg_catalog.quote_literal(db.datctype),
           CASE WHEN db.datistemplate THEN 'IS_TEMPLATE' END,
           CASE WHEN NOT db.datallowconn THEN 'ALLOW_CONNECTIONS false' END,
           'CONNECTION LIMIT ' || db.datconnlimit,
           'TABLESPACE ' || pg_catalog.quote_ident(t.spcname),
           'PRIVILEGES ' || db.datacl::text),
       NULL, NULL
  FROM db
  JOIN pg_catalog.pg_tablespace t ON t.oid = db.dattablespace
UNION ALL
SELECT 'comment on ' || CASE d.classoid
           WHEN 'pg_catalog.pg_authid'::pg_catalog.regclass
               THEN 'role ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.objoid))
           WHEN 'pg_catalog.pg_tablespace'::pg_catalog.regclass
               THEN 'tablespace ' || (SELECT pg_catalog.quote_ident(t.spcname)
                                        FROM pg_catalog.pg_tablespace t WHERE t.oid = d.objoid)
           ELSE db.label END,
       d.description, NULL, NULL
  FROM pg_catalog.pg_shdescription d
  LEFT JOIN db ON d.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass
              AND db.oid = d.objoid
 WHERE d.classoid <> 'pg_catalog.pg_database'::pg_catalog.regclass OR db.oid IS NOT NULL
{parameter_acls}
{file_settings}
