"""What persists: stored responses, uploaded files, container folders."""
