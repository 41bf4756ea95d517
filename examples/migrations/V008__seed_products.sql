INSERT INTO products (sku, title, price_cents) VALUES
    ('TEE-001', 'T-shirt; organic cotton', 1900),
    ('MUG-001', 'Mug', 1200)
ON CONFLICT (sku) DO NOTHING;
