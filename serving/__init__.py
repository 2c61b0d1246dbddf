"""Publication of the marts to the read-only serving file analysts and BI tools open."""
