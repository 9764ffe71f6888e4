"""identity: the Keystone v3 subset PocketStack's clients and services need.

Projects, users, roles and role assignments in one domain (Default), signed
tokens with an expiry, the service catalog, and revocation events."""
