INSERT INTO :"schema".version (version) VALUES ($1::int);
