CREATE DATABASE cairn_analytics OWNER cairn;
