-- Demo data for the source of docker/compose.yaml (run once, on an empty data volume).
create table public.customers (
    id         bigint primary key,
    name       text not null,
    email      text,
    updated_at timestamptz not null default now()
);
create table public.orders (
    id          bigserial primary key,
    customer_id bigint not null,
    amount      numeric(12,2) not null,
    status      text not null,
    note        text,
    updated_at  timestamptz not null default now()
);
insert into public.customers (id, name, email)
select i, 'customer ' || i, 'customer' || i || '@example.com'
from generate_series(1, 1000) as i;
insert into public.orders (customer_id, amount, status, note)
select 1 + (i * 7919) % 1000,
       round((5 + (i * 37) % 995 + (i % 100) / 100.0)::numeric, 2),
       (array['draft', 'paid', 'shipped', 'cancelled'])[1 + i % 4],
       case when i % 10 = 0 then 'gift wrap' end
from generate_series(1, 5000) as i;
