-- The key store lives in its own database beside the main one (see README, "Keys and backups").
CREATE DATABASE convene_keys OWNER convene;
