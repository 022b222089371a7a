-- Email templates become overrides of the defaults compiled into tenant-api:
-- a row exists only where a merchant changed a template (`PUT
-- /admin/notifications/templates/{event}`), and deleting it reverts to the
-- default. `body` stays the text part; `html` is the HTML part.
alter table notification_template add column html text;

-- The rows provisioning copied were never rendered (no sender existed) and use
-- placeholders the senders do not provide; left in place they would shadow the
-- compiled-in defaults as text-only overrides. The migrator is a superuser (it
-- creates roles), which RLS does not filter; `row_security = off` makes any other
-- role fail here rather than silently delete nothing.
set local row_security = off;
delete from notification_template where html is null;
