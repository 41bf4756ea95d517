"""The SQL lint: statement splitting with exact spans, parsing, rules, ignore comments."""
