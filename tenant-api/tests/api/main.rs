mod admin;
mod catalog;
mod health;
mod helpers;
mod isolation;
mod resolution;
mod search;
