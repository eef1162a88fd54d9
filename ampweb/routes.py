"""Every URL of the app, with dotted route names."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("index", "/")
    config.add_route("graph.stream", "/graph/{stream_id:\\d+}")
    config.add_route("graph.stream.range", "/graph/{stream_id:\\d+}/{start:\\d+}/{end:\\d+}")

    config.add_route("health", "/healthz")
    config.add_route("metrics", "/metrics")

    config.add_route("api.v1.collections", "/api/v1/collections")
    config.add_route("api.v1.collection.streams", "/api/v1/collections/{collection}/streams")
    config.add_route("api.v1.stream", "/api/v1/streams/{stream_id:\\d+}")
    config.add_route("api.v1.stream.data", "/api/v1/streams/{stream_id:\\d+}/data")
