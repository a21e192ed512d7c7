//! The report engine: parameters, data binding, grouping, aggregates and the evaluated
//! instance tree renderers walk. Pure: no I/O (data arrives as tables, output leaves as an
//! [`instance::Instance`]).
