CREATE SCHEMA :"schema";
