from bff import create_app

app = create_app()
