module dockyard.local/demo-http

go 1.22
