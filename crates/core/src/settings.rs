//! Loading and checking settings files (placeholder; the settings helper
//! writes it).
