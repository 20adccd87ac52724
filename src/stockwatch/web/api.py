"""The JSON API under ``/api``: one router per resource, each written once over the
``service.backend.Backend`` and the ``WebCapabilities`` its runtime offers."""

from __future__ import annotations

from fastapi import APIRouter

from stockwatch.service.backend import Backend
from stockwatch.web.api_alerts import build_alerts_router
from stockwatch.web.api_ordering import build_ordering_router
from stockwatch.web.api_stock import build_stock_router
from stockwatch.web.api_thresholds import build_thresholds_router
from stockwatch.web.api_uploads import build_uploads_router
from stockwatch.web.capabilities import WebCapabilities
from stockwatch.web.people import build_people_router
from stockwatch.web.subscriptions import build_subscriptions_router


def build_router(backend: Backend, web: WebCapabilities) -> APIRouter:
    api = APIRouter()
    api.include_router(build_uploads_router(backend, web))
    api.include_router(build_stock_router(backend, web))
    api.include_router(build_alerts_router(backend))
    api.include_router(build_thresholds_router(backend))
    api.include_router(build_ordering_router(backend))
    api.include_router(build_people_router(backend, web))
    api.include_router(build_subscriptions_router(backend))
    return api
