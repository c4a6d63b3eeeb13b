from django.http import Http404


def page(request):
    raise Http404()
