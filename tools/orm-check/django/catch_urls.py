"""URLs for catch.py's toolbar run: the naive list as a view."""
from django.http import HttpResponse
from django.urls import path

import patterns
from blog.urls import urlpatterns as blog_urls


def naive_list(request):
    return HttpResponse(patterns.eager_naive())


urlpatterns = [path("naive/", naive_list)] + blog_urls
