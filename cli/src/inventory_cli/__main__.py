from inventory_cli.main import app

app(prog_name="inventory")
