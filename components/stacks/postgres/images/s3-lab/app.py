"""moto's S3 API as a WSGI application (gunicorn serves it: bin/swarm-etl-s3-lab)."""
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

application = DomainDispatcherApplication(create_backend_app)
