"""TRUNCATE of the audit tables is refused by a statement trigger (row triggers never see it).

The one way through is for the tables' owner (the role migrations run as, never the application's
plain role) to say so in its session: `SET elevate.allow_audit_truncate = 'on'`. Only the test
suite does (tests/conftest.py: Django empties every table between transactional tests). An owner
can drop the trigger anyway; a wipe by one is what the anchored chain head catches.
"""

from importlib import import_module

from django.db import migrations

REFUSE_TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION elevate_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('elevate.allow_audit_truncate', true) = 'on'
       AND pg_has_role(current_user, (SELECT tableowner FROM pg_tables
                                      WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail cannot be truncated: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS requests_app_auditevent_refuse_truncate ON requests_app_auditevent;
CREATE TRIGGER requests_app_auditevent_refuse_truncate BEFORE TRUNCATE ON requests_app_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION elevate_audit_refuse_truncate();
DROP TRIGGER IF EXISTS requests_app_auditchainhead_refuse_truncate ON requests_app_auditchainhead;
CREATE TRIGGER requests_app_auditchainhead_refuse_truncate BEFORE TRUNCATE ON requests_app_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION elevate_audit_refuse_truncate();
DROP TRIGGER IF EXISTS requests_app_auditcheckpoint_refuse_truncate ON requests_app_auditcheckpoint;
CREATE TRIGGER requests_app_auditcheckpoint_refuse_truncate BEFORE TRUNCATE ON requests_app_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION elevate_audit_refuse_truncate();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS requests_app_auditevent_refuse_truncate ON requests_app_auditevent;
DROP TRIGGER IF EXISTS requests_app_auditchainhead_refuse_truncate ON requests_app_auditchainhead;
DROP TRIGGER IF EXISTS requests_app_auditcheckpoint_refuse_truncate ON requests_app_auditcheckpoint;
DROP FUNCTION IF EXISTS elevate_audit_refuse_truncate();
"""


# The PostgreSQL-only runner of the append-only migration (SQLite, the embedded mode, has no triggers).
_on_postgresql = import_module("requests_app.migrations.0002_audit_append_only_checkpoint")._on_postgresql


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0008_evidence_pack")]

    operations = [migrations.RunPython(_on_postgresql(REFUSE_TRUNCATE_SQL), _on_postgresql(DROP_SQL))]
