"""The API's views, one module per resource. Each calls the selectors and services the pages call."""
