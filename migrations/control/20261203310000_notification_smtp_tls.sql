-- How a store's SMTP relay is spoken to: plain (`none`), upgraded with STARTTLS
-- (`starttls`, the default and what port 587 expects) or TLS from the first byte
-- (`tls`, port 465). Existing rows keep the default.
alter table tenant_notification_settings
    add column smtp_tls text not null default 'starttls' check (smtp_tls in ('none', 'starttls', 'tls'));
