mod admin;
mod caching;
mod catalog;
mod health;
mod helpers;
mod isolation;
mod resolution;
mod search;
