-- Message templates per store, copied from the platform defaults at provisioning
-- so merchants can edit them. Rendered by the notifications context.

create table notification_template (
    tenant_id    uuid not null,
    template_id  uuid not null,
    event        text not null check (event ~ '^[a-z_]+(\.[a-z_]+)*$'),
    channel      text not null check (channel in ('email', 'sms')),
    locale       text not null default 'en',
    subject      text,
    body         text not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, template_id),
    constraint notification_template_event_key unique (tenant_id, event, channel, locale)
);

alter table notification_template enable row level security;
alter table notification_template force row level security;
create policy tenant_isolation on notification_template
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());
