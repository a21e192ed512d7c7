//! Renderers (CSV, XML, JSON, HTML5) over the engine's instance tree. Pure: they write to a
//! caller's `std::io::Write` and never open files or sockets.
