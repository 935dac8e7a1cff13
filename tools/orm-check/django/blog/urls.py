from django.urls import path

from blog import views

urlpatterns = [
    path("", views.post_list),
    path("cached/", views.cached_post_list),
    path("posts/<slug:slug>/", views.post_detail),
    path("cached/posts/<slug:slug>/", views.cached_post_detail),
    path("export/buffered.ndjson", views.export_buffered),
    path("export/streamed.ndjson", views.export_streamed),
    path("pool/<str:alias>/", views.pooled_page),
]

from django.conf import settings  # noqa: E402

if "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
