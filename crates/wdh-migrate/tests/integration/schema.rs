//! Schema capture and diff against real databases.
