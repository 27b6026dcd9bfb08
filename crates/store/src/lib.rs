//! The run directory (DESIGN.md §5). Under construction.
