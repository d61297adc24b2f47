"""One function per panel. Each function's SQL sits right above it, with the columns it reads."""
