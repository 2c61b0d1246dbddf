"""Service system (file drops): catalogue, stations, deliveries, station visits."""
