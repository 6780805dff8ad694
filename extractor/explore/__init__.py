"""Front ends for looking at a results database: Datasette (`browse`) and `summary`.
They read what `batch` wrote, through the store's views; nothing here extracts."""
