from django.http import Http404


def index(request):
    raise Http404()


def pdf(request, clinic, language, name):
    raise Http404()


def thumbnail(request, clinic, language, name):
    raise Http404()


def detail(request, clinic, language, name):
    raise Http404()
