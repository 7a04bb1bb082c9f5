from django.urls import path

from gameserver.stats import views

urlpatterns = [
    path("benchmark", views.benchmark, name="api-stats-benchmark"),
    path("export", views.export, name="api-stats-export"),
]
