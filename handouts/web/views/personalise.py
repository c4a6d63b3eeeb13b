from django.http import Http404


def form(request, clinic, language, condition, kind, variant):
    raise Http404()
